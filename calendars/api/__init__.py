"""``/api/v1/feed-tokens/``: a user's calendar feed tokens, thin over ``calendars.tokens``.

Each user sees and changes only their own tokens (another user's is a 404). The raw token and
its URLs appear once, in the answer to POST; listings show neither.
"""
