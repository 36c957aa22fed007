-- The audit log is append-only at the database level, not only in the application: an UPDATE, DELETE
-- or TRUNCATE on operator_actions raises, whoever issues it.
CREATE FUNCTION "idem"."forbid_audit_mutation"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'idem.operator_actions is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "operator_actions_no_update_delete"
  BEFORE UPDATE OR DELETE ON "idem"."operator_actions"
  FOR EACH ROW EXECUTE FUNCTION "idem"."forbid_audit_mutation"();
--> statement-breakpoint
CREATE TRIGGER "operator_actions_no_truncate"
  BEFORE TRUNCATE ON "idem"."operator_actions"
  FOR EACH STATEMENT EXECUTE FUNCTION "idem"."forbid_audit_mutation"();
