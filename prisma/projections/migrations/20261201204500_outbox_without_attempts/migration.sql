-- Nothing ever read or wrote the attempt count: the relay retries whatever is unpublished.
ALTER TABLE "OutboxEvent" DROP COLUMN "attempts";
