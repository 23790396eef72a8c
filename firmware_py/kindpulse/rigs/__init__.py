"""Composition roots: the real rig (hardware from the config) and the simulated rig (the emulator
on a virtual clock). Each builds every part and hands them to `Device`; nothing below opens
hardware itself. Imports run one way: commands -> rigs -> device -> parts.
"""
