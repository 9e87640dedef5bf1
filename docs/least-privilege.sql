-- Relcal's application role: everything the app needs, nothing that rewrites history.
-- Run as the role that owns the tables (the one `manage.py migrate` runs as), connected to
-- Relcal's database, after creating relcal_app and again after every `migrate`.
GRANT USAGE ON SCHEMA public TO relcal_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO relcal_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO relcal_app;
-- Audit events and sign-offs: read and append only.
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
    ON approvals_auditevent, approvals_signoff FROM relcal_app;
