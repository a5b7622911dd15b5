from platos.rotation.command import RotateKeyCommand


class Command(RotateKeyCommand):
    help = (
        "Re-encrypt every column of the 'messages' keyring (messages, thinking, tool calls, "
        "safety events, ...) from PLATOS_MESSAGE_ENCRYPTION_KEY to PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT. "
        "Resumable: run it again after any interruption. Exit 0: every row under the next key; "
        "1: some rows could not be decrypted; 2: misuse (nothing written)."
    )
    keyring = "messages"
