"""All writes to master data go through these services.  Each runs in one
transaction, inside an ``audit_context``, and leaves history."""
