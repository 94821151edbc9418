-- DropIndex
DROP INDEX "Item_status_createdAt_idx";

-- CreateIndex
CREATE INDEX "Item_status_deletedAt_id_idx" ON "Item"("status", "deletedAt", "id");

-- CreateIndex
CREATE INDEX "Item_deletedAt_id_idx" ON "Item"("deletedAt", "id");
