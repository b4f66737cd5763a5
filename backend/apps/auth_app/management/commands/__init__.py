"""`verify_audit_chain`."""
