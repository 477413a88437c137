//! WWW-Authenticate parsing (RFC 9110 section 11.6.1, RFC 6750 section 3, RFC 9728 section 5.1).
