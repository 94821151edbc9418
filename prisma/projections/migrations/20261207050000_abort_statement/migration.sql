-- A statement that finds one of its own guards broken stops itself, undoing all it wrote: the
-- ItemInfo projection applies a batch of events as one statement (no transaction), all or nothing.
CREATE FUNCTION "abort_statement"(reason text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', reason;
END
$$;
