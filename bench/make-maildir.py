#!/usr/bin/env python3
"""An INBOX of N empty message files named as an MDA leaves them (`<sec>.M<usec>P<pid>.<host>,S=,W=:2,<flags>`, mixed
flags) for timing opens: the names carry S= and W=, so no server needs to read a message.

    python3 bench/make-maildir.py DIR 100000"""
import os
import random
import sys

root, count = sys.argv[1], int(sys.argv[2])
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(root, sub), exist_ok=True)
random.seed(1)
flags = ["S", "S", "S", "RS", "", "FS", "S", "ST"]
for n in range(count):
    size = 2000 + random.randrange(6000)
    name = "%d.M%dP%d.mail.example.org,S=%d,W=%d:2,%s" % (
        1600000000 + n * 7, random.randrange(1000000), 1000 + n % 30000, size, size + size // 40, flags[n % len(flags)])
    open(os.path.join(root, "cur", name), "w").close()
