-- Near-me search on PostGIS. lat/lng are what the service writes and reads, the location column is derived
-- from them by the database (so no write path needs raw SQL) and is what the GiST index and the
-- near query use: a geography, so distances are on the WGS 84 spheroid.
CREATE EXTENSION IF NOT EXISTS postgis;

-- AlterTable
ALTER TABLE "Item" ADD COLUMN "lat" DOUBLE PRECISION,
ADD COLUMN "lng" DOUBLE PRECISION,
ADD COLUMN "area" TEXT,
ADD COLUMN "location" geography(Point, 4326) GENERATED ALWAYS AS (
  CASE WHEN "lat" IS NULL OR "lng" IS NULL THEN NULL
  ELSE ST_SetSRID(ST_MakePoint("lng", "lat"), 4326)::geography END
) STORED;

-- CreateIndex
CREATE INDEX "Item_location_idx" ON "Item" USING GIST ("location");
