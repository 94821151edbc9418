-- DropIndex
DROP INDEX "Payment_customerId_createdAt_idx";

-- CreateIndex
CREATE INDEX "Payment_customerId_id_idx" ON "Payment"("customerId", "id");
