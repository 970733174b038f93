"""An ElizaOS-compatible server: the REST API and Socket.IO protocol of ``@elizaos/server`` 1.7.2, agents
running in-process, and a web chat at ``/``.

    from elizapy.server import ServerConfig, create_server
    server = create_server(models=gateway, db_path="eliza.db", characters=[character])
    # serve server.asgi with any ASGI server (``elizapy start`` uses uvicorn)

Needs the ``server`` extra (``pip install 'elizapy[server]'``).
"""

from .app import ElizaServer, ServerConfig, create_server
from .central import DEFAULT_SERVER_ID, CentralStore
from .manager import AgentManager

__all__ = [
    "DEFAULT_SERVER_ID",
    "AgentManager",
    "CentralStore",
    "ElizaServer",
    "ServerConfig",
    "create_server",
]
