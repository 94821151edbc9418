-- AlterTable: each ItemInfo's position in the change feed (the feed stream's sequence of its change)
ALTER TABLE "ItemInfo" ADD COLUMN "cursor" BIGINT NOT NULL DEFAULT 0;
