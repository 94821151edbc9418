-- lendItem and returnItem find the item a reservation holds by its hold; without an index that
-- read every item.
-- CreateIndex
CREATE INDEX "Item_holdReservationId_idx" ON "Item"("holdReservationId");
