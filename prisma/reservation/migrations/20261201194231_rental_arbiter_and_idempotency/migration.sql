-- CreateEnum
CREATE TYPE "PaymentIntent" AS ENUM ('CHARGE', 'REFUND');

-- AlterTable
ALTER TABLE "Reservation" ADD COLUMN     "cancelAfterRefund" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "paymentAttemptId" UUID,
ADD COLUMN     "paymentIntent" "PaymentIntent",
ADD COLUMN     "paymentIntentAt" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "IdempotencyRecord" (
    "callerId" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "request" TEXT NOT NULL,
    "response" JSONB NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IdempotencyRecord_pkey" PRIMARY KEY ("callerId","key","operation")
);

-- CreateIndex
CREATE INDEX "IdempotencyRecord_createdAt_idx" ON "IdempotencyRecord"("createdAt");

-- CreateIndex
CREATE INDEX "Reservation_paymentIntentAt_idx" ON "Reservation"("paymentIntentAt");
