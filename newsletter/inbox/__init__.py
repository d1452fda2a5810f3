"""Commands by reply and bounce processing, from the reply mailbox over IMAP."""

from newsletter.inbox.process import InboxReport, process_inbox

__all__ = ["InboxReport", "process_inbox"]
