"""Promotion: the decision (tiers over candidates, pure), re-verification of evidence,
the provenance record, the commit protocol, the promoter, and reproduction."""
