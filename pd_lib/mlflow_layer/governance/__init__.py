"""Who may become champion, and how: registering a run (registry), the champion gate and its page
(gate, gate_report; its decisions are pd_lib.validation.gate_rules), the promote lock (lock),
promotion as a recoverable transaction of registry writes (promotion, writes), and the check
that a version's model loads and scores its holdout (model_check).
"""

__all__ = [
    "gate",
    "gate_report",
    "lock",
    "model_check",
    "promotion",
    "registry",
    "writes",
]
