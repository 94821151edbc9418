-- DropIndex
DROP INDEX "ItemInfo_ownerId_idx";

-- CreateIndex
CREATE INDEX "ItemInfo_ownerId_itemId_idx" ON "ItemInfo"("ownerId", "itemId");
