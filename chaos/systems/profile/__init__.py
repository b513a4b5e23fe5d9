"""The founding story: a user profile kept as metadata in a database and an image in a blob
store, written once per design of the tutorial this project started from (see the README, "The
founding story").

Each design is a short module that follows its protocol step by step through two stores, the
``db`` role and the ``blobs`` role, so that the fault layer can crash, delay or stall it
between any two store calls:

=====================  ==========================================  ==================
design                 protocol                                    expected
=====================  ==========================================  ==================
``profile-naive``      metadata, then blob, both keyed by user     violation
``profile-improved``   blob (overwritten in place), then metadata  violation
``profile-working``    blob under a fresh id, then {metadata, id}  no violation
``profile-cleaner-*``  working + a background storage cleaner      see :mod:`.cleaner`
=====================  ==========================================  ==================

Operations: ``write`` with value ``[metadata, image]`` and ``read`` returning ``None`` (the
empty record) or ``[metadata, image]`` as actually fetched (``image`` is ``None`` when the
blob was missing), checked with the ``profile`` model.
"""

DESIGN_NAMES = ("naive", "improved", "working", "cleaner-naive", "cleaner-improved", "cleaner-kill", "cleaner-working")
"""The designs, in the order of the seed's story (``profile-<name>`` is each one's system)."""
