//! The embedded simulator: a fake but faithful world on loopback.
