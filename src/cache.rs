//! A pure token cache (decisions.md D13, D19).
