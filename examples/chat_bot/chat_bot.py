"""A chat bot in 20 lines: answers "!time" and "!who" in the chat (no aiortc needed)."""

import asyncio
import sys
import time

from chinwag.client import ChatMessage, connect


async def main(server: str) -> None:
    async with connect(server, "clockbot") as client:
        async for event in client.events():
            if not isinstance(event, ChatMessage) or event.name == client.name:
                continue
            if event.text.strip() == "!time":
                await client.chat(f"{event.name}: it is {time.strftime('%H:%M:%S')}")
            elif event.text.strip() == "!who":
                await client.chat("online: " + ", ".join(client.roster.users))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:6503/"))
