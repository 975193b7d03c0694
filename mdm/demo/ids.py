"""Source ids that look like each system's own.

* CRM: Salesforce 18-character ids (3-char key prefix: ``001`` account,
  ``800`` contract, ``006`` opportunity; 2-char pod; reserved ``0``; 9 base-62
  characters; 3-character case-safe checksum suffix, computed as Salesforce does).
* ERP: customer numbers ``C100234`` (6 digits, 7 once more than 900,000 are needed).
* PSA: clients ``CL-00123`` (5 digits, more when needed).

Ids come from a counter pushed through an affine permutation, so each system
numbers the same companies in its own unrelated order (as systems filled at
different times do), while staying unique and deterministic.
"""

from __future__ import annotations

import math

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


class AffinePermutation:
    """k -> (a*k + b) mod m: a bijection on range(m) that looks random."""

    def __init__(self, m: int, salt: int):
        self.m = m
        a = 1_000_003 + 2 * (salt % 50_000)
        while math.gcd(a, m) != 1:
            a += 2
        self.a = a % m or 1
        self.b = (salt * 7_919) % m

    def __call__(self, k: int) -> int:
        return (self.a * k + self.b) % self.m


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_B62[r])
    return "".join(reversed(out))


def sf_checksum(id15: str) -> str:
    """Salesforce's 3-character suffix that makes a 15-character id case-safe."""
    out = []
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        flags = 0
        for i, ch in enumerate(chunk):
            if "A" <= ch <= "Z":
                flags |= 1 << i
        out.append(_SUFFIX[flags])
    return "".join(out)


class SalesforceIds:
    """18-character ids for one object type (key prefix) in one org."""

    def __init__(self, key_prefix: str, pod: str, salt: int):
        self.prefix = key_prefix + pod + "0"
        # 62**6 slots: plenty, and the ids start with "000" like real young orgs.
        self.perm = AffinePermutation(62 ** 6, salt)

        self._first = sf_checksum(self.prefix + "0" * 9)[0]  # chunk 1 is the constant prefix

    def __call__(self, k: int) -> str:
        v = self.perm(k)  # < 62**6: the 9 base-62 characters start with "000"
        chars = []
        for _ in range(6):
            v, r = divmod(v, 62)
            chars.append(_B62[r])
        chars.reverse()
        tail = "".join(chars)
        second = (16 if chars[0].isupper() else 0) | (1 if self.prefix[5].isupper() else 0)
        third = 0
        for i in range(5):
            if chars[1 + i].isupper():
                third |= 1 << i
        return f"{self.prefix}000{tail}{self._first}{_SUFFIX[second]}{_SUFFIX[third]}"


class NumberedIds:
    """``<prefix><n>`` with n spread over a fixed-width range."""

    def __init__(self, prefix: str, capacity: int, min_digits: int, salt: int, lowest_first_digit: int = 1):
        digits = min_digits
        while 9 * 10 ** (digits - 1) < capacity * 1.05 + 10:
            digits += 1
        self.prefix = prefix
        self.digits = digits
        self.offset = lowest_first_digit * 10 ** (digits - 1) or 1
        self.perm = AffinePermutation(10 ** digits - self.offset, salt)

    def __call__(self, k: int) -> str:
        return f"{self.prefix}{self.offset + self.perm(k):0{self.digits}d}"
