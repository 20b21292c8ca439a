"""Typed, contract-tested cancel-token clients for KBank K PLUS, Solidgate and Xendit."""
