"""Letters written offline (at a stall, a school, a local group's evening) that organisers
report afterwards, by partners on their stats page or by staff in the admin.

forms: the report form; reports: create, correct, withdraw, review, duplicates;
partner_form: the token of the partner's forms. Approved reports count
(letters.counters.offline_by_case).
"""
