"""A video echo bot: answers every call with the caller's own camera and microphone.

It also says hello in the chat to everyone who signs in. Needs chinwag[peer].
"""

import asyncio
import sys

from chinwag.client import Presence, connect
from chinwag.peer.media import CallMedia, MediaOptions
from chinwag.peer.phone import Phone


async def main(server: str, relay_only: bool) -> None:
    async with connect(server, "echobot") as client:
        echo = MediaOptions(echo=True)
        phone = Phone(client, lambda: CallMedia(echo), relay_only=relay_only)

        async def greet(event: Presence) -> None:
            for name in event.joined:
                await client.chat(f"hello {name}, call echobot to see yourself")

        client.on(Presence, greet)
        print(f"signed in as {client.name}; call me", flush=True)
        await phone.run()  # answers calls until the server goes away


if __name__ == "__main__":
    server = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:6503/"
    asyncio.run(main(server, relay_only="--relay-only" in sys.argv))
