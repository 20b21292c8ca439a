"""Attacks on the client from a hostile network, on loopback: each guarantee of issue #12."""
