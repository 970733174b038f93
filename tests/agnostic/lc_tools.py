"""LangChain tools the tests reference from settings (``TOOL_SOURCES``)."""

from __future__ import annotations

from typing import Annotated

from langchain_core.tools import BaseTool, InjectedToolArg, ToolException, tool
from pydantic import BaseModel, Field

from elizapy.reasoning import tool as eliza_tool


class WikiArgs(BaseModel):
    query: str = Field(description="What to look up")
    limit: int = Field(default=3, ge=1, le=10)


class Wiki(BaseTool):
    """A BaseTool subclass with an explicit args_schema."""

    name: str = "wiki_search"
    description: str = "Search the encyclopedia."
    args_schema: type[BaseModel] = WikiArgs

    def _run(self, query: str, limit: int = 3) -> str:
        return f"{limit} articles about {query}"


@tool
def stock_price(ticker: str, user_token: Annotated[str, InjectedToolArg] = "") -> str:
    """Latest price of a stock ticker."""
    if ticker == "NOPE":
        raise ToolException(f"unknown ticker {ticker}")
    return f"{ticker}: 101.5"


wiki = Wiki()


def plain_add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@eliza_tool
def eliza_native(word: str) -> str:
    """Reverse a word."""
    return word[::-1]


ALL = [wiki, stock_price, plain_add, eliza_native]
