#!/usr/bin/env python3
"""An encrypted metachannel peer in Python, written from docs/security.md ("End-to-end
encryption") alone: Debian's python3-nacl (libsodium) and python3-websockets.

    python3 tests/python/e2e_peer.py 'ws://host/ch/<token>#k=<key>'

It connects to the URL without its fragment and speaks JSON lines:
  stdout: {"ready": true} once open; then, for every frame received,
          {"text": "..."} or {"binary": "<hex>"} when it opened, or {"dropped": "<why>"}
  stdin:  {"text": "..."} or {"binary": "<hex>"}: sealed and sent; {"close": true}: closes
  python3 tests/python/e2e_peer.py --seal <key hex> <nonce hex> <payload text>
          prints the sealed frame in hex (for the worked example)
"""
import asyncio
import base64
import json
import os
import sys
from urllib.parse import urldefrag

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt as aead_open,
    crypto_aead_xchacha20poly1305_ietf_encrypt as aead_seal,
)
from nacl.exceptions import CryptoError

VERSION = b"\x01"
NONCE_BYTES = 24
TAG_BYTES = 16
OVERHEAD = 1 + NONCE_BYTES + 1 + TAG_BYTES  # 42
KIND_TEXT, KIND_BINARY = 0x00, 0x01


def key_from_url(url):
    """(url without fragment, 32-byte key) from ws://host/path?query#k=<base64url key>&…"""
    bare, fragment = urldefrag(url)
    for pair in fragment.split("&"):
        name, _, value = pair.partition("=")
        if name == "k":
            if len(value) != 43:
                raise ValueError("k must be 43 base64url characters")
            key = base64.urlsafe_b64decode(value + "=")
            if len(key) != 32:
                raise ValueError("k must decode to 32 bytes")
            return bare, key
    raise ValueError("the URL's fragment has no k=<key>")


def seal(key, kind, payload, nonce=None):
    nonce = nonce if nonce is not None else os.urandom(NONCE_BYTES)
    return VERSION + nonce + aead_seal(bytes([kind]) + payload, VERSION, nonce, key)


def open_frame(key, frame):
    """(kind, payload) or raises ValueError saying why the frame is dropped."""
    if isinstance(frame, str):
        raise ValueError("text frame")
    if len(frame) < OVERHEAD:
        raise ValueError("short")
    if frame[:1] != VERSION:
        raise ValueError("version")
    try:
        plain = aead_open(frame[1 + NONCE_BYTES :], VERSION, frame[1 : 1 + NONCE_BYTES], key)
    except CryptoError:
        raise ValueError("authentication") from None
    kind, payload = plain[0], plain[1:]
    if kind == KIND_TEXT:
        payload.decode("utf-8")  # UnicodeDecodeError is a ValueError
    elif kind != KIND_BINARY:
        raise ValueError("kind")
    return kind, payload


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def main(url):
    import websockets  # imported here so that --seal needs only PyNaCl

    bare, key = key_from_url(url)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with websockets.connect(bare, max_size=None) as ws:
        emit({"ready": True})

        async def receive():
            async for frame in ws:
                try:
                    kind, payload = open_frame(key, frame)
                except ValueError as why:
                    emit({"dropped": str(why)})
                    continue
                if kind == KIND_TEXT:
                    emit({"text": payload.decode("utf-8")})
                else:
                    emit({"binary": payload.hex()})

        receiving = asyncio.ensure_future(receive())
        while True:
            line = await reader.readline()
            if not line:
                break
            command = json.loads(line)
            if "text" in command:
                await ws.send(seal(key, KIND_TEXT, command["text"].encode("utf-8")))
            elif "binary" in command:
                await ws.send(seal(key, KIND_BINARY, bytes.fromhex(command["binary"])))
            elif command.get("close"):
                break
        receiving.cancel()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--seal":
        key, nonce = bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3])
        print(seal(key, KIND_TEXT, sys.argv[4].encode("utf-8"), nonce).hex())
    elif len(sys.argv) == 2:
        asyncio.run(main(sys.argv[1]))
    else:
        sys.exit(__doc__)
