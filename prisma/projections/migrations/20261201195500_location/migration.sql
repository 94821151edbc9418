-- AlterTable: where the item can be picked up, from the item events' snapshot.
ALTER TABLE "ItemInfo" ADD COLUMN "lat" DOUBLE PRECISION,
ADD COLUMN "lng" DOUBLE PRECISION;
