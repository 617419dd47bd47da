"""blocsim: an agent-based simulation of UN voting blocs.

193 member states on an influence network, calibrated on the General Assembly vote of
24 February 2025 on A/RES/ES-11/7 (93 yes, 18 no, 65 abstain).
"""

__version__ = "0.1.0"
