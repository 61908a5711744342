"""Jinguo rights service (维权): confidential cases, deadlines, referrals, inspections."""
