"""An ElizaOS-Py tool for the LangGraph example (``TOOL_SOURCES``); the graph gets it as a LangChain tool."""

from __future__ import annotations

from elizapy.reasoning import tool

RATES = {"EUR": 0.92, "GBP": 0.79, "JPY": 151.0}


@tool
def convert_currency(amount: float, currency: str) -> str:
    """Convert an amount of US dollars to EUR, GBP or JPY (fixed demo rates)."""
    rate = RATES.get(currency.upper())
    if rate is None:
        return f"no rate for {currency}; known: {', '.join(RATES)}"
    return f"{amount:g} USD = {amount * rate:.2f} {currency.upper()}"
