-- DropIndex
DROP INDEX "Reservation_customerId_createdAt_idx";

-- CreateIndex
CREATE INDEX "Reservation_customerId_id_idx" ON "Reservation"("customerId", "id");
