//! The other side, sans-IO: the IdP token-exchange handler and the MCP authorization server jwt-bearer handler.
