"""Runs the store conformance suite (``conformance.py``) against every backend in ``conftest.BACKENDS``."""

from tests.store.conformance import (
    TestAgents,
    TestCache,
    TestConcurrencyAndLifecycle,
    TestEntities,
    TestLogs,
    TestMemories,
    TestParticipants,
    TestRelationships,
    TestSearch,
    TestTasks,
    TestWorldsAndRooms,
)

__all__ = [
    "TestAgents",
    "TestCache",
    "TestConcurrencyAndLifecycle",
    "TestEntities",
    "TestLogs",
    "TestMemories",
    "TestParticipants",
    "TestRelationships",
    "TestSearch",
    "TestTasks",
    "TestWorldsAndRooms",
]
