-- CreateEnum
CREATE TYPE "ItemStatus" AS ENUM ('RENTABLE', 'NOT_RENTABLE');

-- CreateEnum
CREATE TYPE "RentalStatus" AS ENUM ('NOT_RENTING', 'RENTING', 'RETURNED');

-- CreateEnum
CREATE TYPE "ReservationStatus" AS ENUM ('PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "PaymentStatus" AS ENUM ('NOT_PAID', 'PAID', 'CANCELLED');

-- CreateTable
CREATE TABLE "ItemInfo" (
    "itemId" UUID NOT NULL,
    "itemName" TEXT NOT NULL,
    "itemPrice" INTEGER NOT NULL,
    "ownerId" TEXT NOT NULL,
    "itemStatus" "ItemStatus" NOT NULL,
    "rentalStatus" "RentalStatus" NOT NULL,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "reservationId" UUID,
    "customerId" TEXT,
    "customerName" TEXT,
    "reservationStatus" "ReservationStatus",
    "paymentStatus" "PaymentStatus",
    "version" INTEGER NOT NULL,
    "itemVersion" INTEGER NOT NULL,
    "reservationVersion" INTEGER,
    "lastSeq" BIGINT NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ItemInfo_pkey" PRIMARY KEY ("itemId")
);

-- CreateTable
CREATE TABLE "ProcessedEvent" (
    "eventId" UUID NOT NULL,
    "consumer" TEXT NOT NULL,
    "processedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ProcessedEvent_pkey" PRIMARY KEY ("consumer","eventId")
);

-- CreateIndex
CREATE INDEX "ItemInfo_ownerId_idx" ON "ItemInfo"("ownerId");
