"""aptui's themes: the high-contrast one for projectors and washed-out bastion terminals."""

from __future__ import annotations

from textual.theme import Theme

HIGH_CONTRAST = Theme(
    name="aptui-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FF8C00",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#202020",
    boost="#303030",
    success="#00FF00",
    warning="#FFFF00",
    error="#FF4040",
    dark=True,
    variables={
        "border": "#FFFFFF",
        "border-blurred": "#A0A0A0",
        "block-cursor-background": "#FFFF00",
        "block-cursor-foreground": "#000000",
        "block-cursor-text-style": "bold",
        "block-cursor-blurred-background": "#606060",
        "block-cursor-blurred-foreground": "#FFFFFF",
        "footer-key-foreground": "#FFFF00",
        "input-selection-background": "#FFFF00 40%",
        "text-muted": "#D0D0D0",
    },
)

THEMES = (HIGH_CONTRAST,)
