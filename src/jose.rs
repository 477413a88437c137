//! Real signatures through jsonwebtoken (feature `jwt`).
