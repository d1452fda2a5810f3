"""Sisimai's rules for the big mailbox providers, as data: what their servers' texts mean.
Data only; ``newsletter.inbox.classify.rhosts`` reads it.

Source: sisimai (https://github.com/sisimai/p5-sisimai, v5.1.0p3, commit 21cfb932; BSD 2-Clause
licence, Copyright (C) 2014-2024 azumakuniyuki), lib/Sisimai/Rhost.pm and lib/Sisimai/Rhost/
{Google,Microsoft,YahooInc,FrancePTT}.pm, copied unchanged except that the phrases are
lower-cased (sisimai matches them against the lower-cased text; a few had capitals and so
could never match).

- ``PROVIDERS``: the remote hosts (Remote-MTA, the host a notice names) of each provider.
- ``GOOGLE[reason]``: (reply code, status, phrase): the phrase and the last two digits of
  both codes must match.
- ``MICROSOFT[reason]``: (status, lowest, highest, phrase): the status exactly when lowest ==
  highest, else its first part and a last number in [lowest, highest]; and the phrase.
- ``YAHOO_INC[reason]``: phrases.
- ``FRANCE_PTT_CODES``: Orange / La Poste error numbers (``LPN007_416``) -> reason ('' when
  the number names none); ``FRANCE_PTT_MESSAGES[reason]``: phrases.
"""

from __future__ import annotations

PROVIDERS: dict[str, tuple[str, ...]] = {
    "google": ("aspmx.l.google.com", "gmail-smtp-in.l.google.com"),
    "microsoft": (".prod.outlook.com", ".protection.outlook.com"),
    # sisimai names Yahoo's MX hosts only; Yahoo's own mail domains (and AOL's, which Yahoo
    # Inc runs) are added so that a notice naming no host is read by the recipient's domain:
    # Yahoo refuses unknown users after DATA ("... [BODY]"), where only these rules know
    # "dd This user doesn't have a yahoo.com account" for userunknown.
    "yahooinc": (".yahoodns.net", ".yahoo.com", ".ymail.com", ".rocketmail.com", ".aol.com"),
    "franceptt": (".laposte.net", ".orange.fr", ".wanadoo.fr"),
}

GOOGLE: dict[str, tuple[tuple[str, str, str], ...]] = {
    "authfailure": (
        ("451", "4.7.24", "the spf record of the sending domain"),
        ("550", "5.7.24", "the spf record of the sending domain"),
        ("421", "4.7.26", "senders to authenticate with either spf or dkim"),
        ("550", "5.7.26", "senders to authenticate with either spf or dkim"),
        ("550", "5.7.26", "fails to pass spf checks for an spf record with a hard fail"),
        ("550", "5.7.26", "has an spf record with a hard fail policy"),
        ("451", "4.7.26", "is not accepted due to domain's dmarc policy"),
        ("550", "5.7.26", "is not accepted due to domain's dmarc policy"),
        ("550", "5.7.26", "is not accepted due to domain's dmarc policy"),
        ("550", "5.7.1", "fails to pass authentication checks"),
        ("550", "5.7.26", "fails to pass authentication checks"),
        ("421", "4.7.27", "senders to authenticate with spf"),
        ("421", "4.7.27", "senders to authenticate their email with spf"),
        ("550", "5.7.27", "senders to authenticate with spf"),
        ("421", "4.7.30", "senders to authenticate their email with dkim"),
        ("550", "5.7.30", "senders to authenticate with dkim"),
        ("421", "4.7.32", "aligned with either the authenticated spf or dkim"),
    ),
    "badreputation": (
        ("421", "4.7.0", "very low reputation of the sending ip address"),
        ("421", "4.7.0", "very low reputation of the sending domain"),
        ("550", "5.7.1", "due to the very low reputation of the sending ip address"),
        ("550", "5.7.1", "due to the very low reputation of the sending domain"),
    ),
    "blocked": (
        ("421", "4.7.0", "ip not in whitelist for rcpt domain"),
        ("421", "4.7.0", "try again later, closing connection."),
        ("501", "5.5.4", "empty helo/ehlo argument not allowed"),
        ("501", "5.5.4", "helo/ehlo argument is invalid"),
        ("421", "4.7.0", "an unusual rate of unsolicited mail"),
        ("421", "4.7.28", "an unusual rate of mail"),
        ("550", "5.7.1", "an unusual rate of unsolicited mail"),
        ("550", "5.7.28", "an unusual rate of unsolicited mail"),
    ),
    "exceedlimit": (
        ("552", "5.2.3", "exceeded google's message size limits"),
        ("552", "5.3.4", "exceeds google's limit of limit attachments."),
        ("552", "5.3.4", "your message exceeded google's message header size limits"),
        ("552", "5.3.4", "bytes per individual header size"),
        ("552", "5.3.4", "exceeds google's header name limit of"),
        ("552", "5.3.4", "exceeds google's message header size limit"),
    ),
    "expired": (
        ("421", "4.7.0", "connection expired"),
        ("451", "4.4.2", "timeout - closing connection"),
    ),
    "mailboxfull": (
        ("452", "4.2.2", "inbox is out of storage space"),
        ("552", "5.2.2", "inbox is out of storage space and inactive"),
        ("452", "4.2.2", "is over quota"),
        ("552", "5.2.2", "is over quota"),
        ("550", "5.7.1", "email quota exceeded"),
    ),
    "mesgtoobig": (
        ("552", "5.3.4", "exceeded google's message size limits"),
        ("552", "5.3.4", "exceeds google's message size limit of"),
    ),
    "networkerror": (
        ("554", "5.4.6", "message exceeded 50 hops"),
        ("554", "5.6.0", "message exceeded 50 hops"),
    ),
    "norelaying": (
        ("550", "5.7.0", "mail relay denied"),
        ("550", "5.7.1", "invalid credentials for relay"),
        ("550", "5.7.1", "is not authorized to send email directly to our servers"),
    ),
    "notcompliantrfc": (
        ("550", "5.7.1", "missing a valid address in the from: header"),
        ("550", "5.7.1", "multiple addresses in from: header are not accepted"),
        ("550", "5.7.1", "is not rfc 5322 compliant"),
        ("550", "5.7.1", "missing a valid message-id: header"),
        ("550", "5.7.1", "contains a unicode character in a disallowed header"),
        ("550", "5.7.1", "encoded-word syntax is not permitted"),
        ("553", "5.1.7", "is not a valid rfc 5321 address"),
        ("554", "5.6.0", "mail message is malformed"),
    ),
    "policyviolation": (
        ("552", "5.7.0", "illegal attachment on your message"),
        ("552", "5.7.0", "blocked because its content presents a potential security issue"),
        ("550", "5.7.1", "you are sending to (or from) has a policy that prohibited"),
        ("421", "4.7.28", "sending messages with the same message-id:"),
    ),
    "rejected": (
        ("550", "5.7.0", "mail sending denied"),
        ("550", "5.7.1", "unauthenticated email is not accepted"),
    ),
    "requireptr": (
        ("421", "4.7.0", "does not have a ptr record"),
        ("421", "4.7.23", " have a ptr record, or the ptr record"),
        (
            "550",
            "5.7.1",
            "does not meet ipv6 sending guidelines regarding ptr records and authentication",
        ),
        ("550", "5.7.25", "does not have a ptr record"),
        ("550", "5.7.25", "does not match the ip address of the hostname"),
    ),
    "securityerror": (
        ("421", "4.7.0", "tls required for rcpt domain"),
        ("454", "4.7.0", "too many login attempts"),
        ("501", "5.5.2", "cannot decode response"),
        ("503", "5.7.0", "no identity changes permitted"),
        ("530", "5.5.1", "authentication required."),
        ("530", "5.7.0", "authentication required."),
        ("535", "5.7.1", "application-specific password required"),
        ("535", "5.7.9", "application-specific password required"),
        ("535", "5.7.1", "please log in with your web browser"),
        ("534", "5.7.9", "please log in with your web browser"),
        ("534", "5.7.14", "please log in through your web browser"),
        ("535", "5.7.1", "username and password not accepted"),
        ("535", "5.7.8", "username and password not accepted"),
        ("421", "4.7.29", "senders to use tls/ssl for smtp"),
        ("550", "5.7.29", "senders to use tls/ssl for smtp"),
    ),
    "spamdetected": (
        ("421", "4.7.0", "due to the nature of the content or the links within"),
        ("550", "5.7.1", "likely unsolicited mail"),
    ),
    "speeding": (
        ("450", "4.2.1", "is receiving mail too quickly"),
        ("450", "4.2.1", "peak smtp relay limit exceeded for customer"),
        ("450", "4.2.1", "rate that prevents additional messages from being delivered"),
        ("550", "5.2.1", "rate that prevents additional messages from being delivered"),
        ("550", "5.4.5", "daily sending quota exceeded"),
        ("550", "5.4.5", "daily user sending limit exceeded"),
        ("550", "5.4.5", "daily smtp relay limit exceeded for"),
        ("550", "5.7.1", "daily smtp relay limit exceeded for"),
        ("550", "5.7.1", "daily smtp relay sending limit exceeded for"),
        ("550", "5.7.1", "this mail has been rate limited"),
    ),
    "suspend": (
        ("550", "5.2.1", "account that you tried to reach is disabled"),
        ("550", "5.2.1", "account that you tried to reach is inactive"),
    ),
    "syntaxerror": (
        ("451", "4.5.0", "smtp protocol violation"),
        ("454", "4.5.0", "smtp protocol violation"),
        ("525", "5.7.10", "smtp protocol violation"),
        ("535", "5.5.4", "optional argument not permitted"),
        ("454", "5.5.1", "starttls may not be repeated"),
        ("501", "5.7.11", "syntax error"),
        ("501", "5.5.2", "syntax error"),
        ("555", "5.5.2", "syntax error"),
        ("502", "5.5.1", "too many unrecognized commands, goodbye"),
        ("502", "5.5.1", "unimplemented command"),
        ("502", "5.5.1", "unrecognized command"),
        ("503", "5.5.1", "bad sequence of commands"),
        ("503", "5.5.1", "ehlo/helo first"),
        ("503", "5.5.1", "mail first"),
        ("503", "5.5.1", "rcpt first"),
        ("503", "5.5.1", "no data after bdat"),
        ("504", "5.7.4", "unrecognized authentication type"),
        ("504", "5.7.4", "xoauth is no longer supported"),
        ("530", "5.7.0", "must issue a starttls command first"),
        ("554", "5.7.0", "too many unauthenticated commands"),
    ),
    "systemerror": (
        ("421", "4.3.0", "temporary system problem"),
        ("421", "4.7.0", "temporary system problem"),
        ("421", "4.4.5", "server busy"),
        ("451", "4.3.0", "multiple destination domains per transaction is unsupported"),
        ("451", "4.3.0", "mail server has temporarily rejected this message"),
        ("451", "4.3.0", "mail server temporarily rejected message"),
        ("452", "4.5.3", "domain policy size per transaction exceeded"),
        ("454", "4.7.0", "cannot authenticate due to temporary system problem"),
    ),
    "toomanyconn": (
        ("452", "4.5.3", "your message has too many recipients"),
        ("550", "5.5.3", "too many recipients for this sender"),
    ),
    "userunknown": (
        ("550", "5.1.1", "the email account that you tried to reach does not exist"),
        ("553", "5.1.2", "we weren't able to find the recipient domain"),
        ("553", "5.1.3", "is not a valid rfc 5321 address"),
    ),
}

MICROSOFT: dict[str, tuple[tuple[str, int, int, str], ...]] = {
    "authfailure": (
        ("4.7.26", 0, 0, "must pass either spf or dkim validation, this message is not signed"),
        ("4.7.323", 0, 0, "tlsa-invalid: the domain failed dane validation"),
        ("5.7.323", 0, 0, "tlsa-invalid: the domain failed dane validation"),
        ("4.7.324", 0, 0, "dnssec-invalid: destination domain returned invalid dnssec records"),
        ("5.7.324", 0, 0, "dnssec-invalid: destination domain returned invalid dnssec records"),
        (
            "4.7.325",
            0,
            0,
            "certificate-host-mismatch: remote certificate must have a common name or subject alternative name matching the hostname (dane)",
        ),
        (
            "5.7.325",
            0,
            0,
            "certificate-host-mismatch: remote certificate must have a common name or subject alternative name matching the hostname (dane)",
        ),
        ("5.7.23", 0, 0, "the message was rejected because of sender policy framework violation"),
        ("5.7.322", 0, 0, "certificate-expired: destination mail server's certificate is expired"),
        ("5.7.509", 0, 0, "does not pass dmarc verification"),
    ),
    "badreputation": (("4.7.650", 0, 0, "has been temporarily rate limited due to ip reputation"),),
    "blocked": (
        ("4.4.2", 0, 0, "connection dropped"),
        ("4.7.", 850, 899, "access denied, please try again later"),
        ("5.7.25", 0, 0, "must have a reverse dns record"),
        ("5.7.506", 0, 0, "access denied, bad helo"),
        ("5.7.507", 0, 0, "access denied, rejected by recipient"),
        ("5.7.510", 0, 0, "does not accept email over ipv6"),
        ("5.7.511", 0, 0, "access denied, banned sender"),
        ("5.7.513", 0, 0, "using customer block list"),
        ("5.7.", 606, 649, "access denied, banned sending ip "),
        ("4.7.", 500, 699, "access denied, please try again later"),
        ("5.5.4", 0, 0, "invalid domain name"),
        ("5.7.51", 0, 0, "restrictdomainstoipaddresses or restrictdomainstocertificate"),
        ("5.7.1", 0, 0, "part of their network is on our block list (s3150)"),
    ),
    "contenterror": (
        ("5.3.0", 0, 0, "too many related errors"),
        ("5.6.11", 0, 0, "invalid characters"),
        ("5.4.11", 0, 0, "agent generated message depth exceeded"),
        ("5.5.6", 0, 0, "invalid message content"),
    ),
    "exceedlimit": (
        ("5.2.3", 0, 0, "resolver.rst.recipsizelimit; message too large for this recipient"),
    ),
    "expired": (
        ("4.4.1", 0, 0, "connection timed out"),
        ("4.4.7", 0, 0, "message delayed"),
        ("4.4.7", 0, 0, "queue expired; message expired"),
        ("4.4.7", 0, 0, "message expired"),
        ("5.4.300", 0, 0, "message expired"),
    ),
    "mailboxfull": (("5.2.2", 0, 0, "mailbox full"),),
    "mesgtoobig": (
        ("5.3.4", 0, 0, "message size exceeds fixed maximum message size"),
        ("5.3.4", 0, 0, "message too big for system"),
    ),
    "networkerror": (
        ("5.4.4", 0, 0, "smtpsend.dns.nonexistentdomain; nonexistent domain"),
        ("5.4.6", 0, 0, "hop count exceeded - possible mail loop"),
        ("4.4.316", 0, 0, "connection refused"),
        ("5.4.4", 0, 0, "invalid arguments"),
        ("5.4.6", 0, 0, "routing loop detected"),
        ("5.4.14", 0, 0, "routing loop detected"),
    ),
    "norelaying": (
        ("5.7.1", 0, 0, "unable to relay"),
        ("5.7.1", 0, 0, "client was not authenticated"),
        ("5.4.1", 0, 0, "relay access denied"),
        ("5.7.1", 0, 0, "unable to relay"),
        ("5.7.64", 0, 0, "tenantattribution; relay access denied"),
        ("5.4.310", 0, 0, "does not exist"),
    ),
    "notaccept": (
        ("4.3.2", 0, 0, "system not accepting network messages"),
        ("4.4.4", 0, 0, "hosted tenant which has no mail-enabled subscriptions"),
        ("5.3.2", 0, 0, "storedrv.deliver: missing or bad storedriver mdb properties"),
    ),
    "policyviolation": (
        ("5.0.350", 0, 0, "x-dg-ref header is too long"),
        ("5.0.350", 0, 0, "requested action not taken: policy violation detected (as345)"),
        ("5.7.", 900, 999, "delivery not authorized, message refused"),
    ),
    "rejected": (
        ("5.1.7", 0, 0, "invalid address"),
        ("5.1.7", 0, 0, "unknown sender address"),
        ("5.1.0", 0, 0, "sender denied"),
        ("5.1.8", 0, 0, "access denied, bad outbound sender"),
        ("5.7.1", 0, 0, "delivery not authorized"),
        ("5.7.12", 0, 0, "sender was not authenticated by organization"),
        ("5.7.124", 0, 0, "sender not in allowed-senders list"),
        ("5.7.133", 0, 0, "sender not authenticated for group"),
        ("5.7.134", 0, 0, "sender was not authenticated for mailbox"),
        ("5.7.13", 0, 0, "sender was not authenticated for public folder"),
        ("5.7.135", 0, 0, "sender was not authenticated for public folder"),
        ("5.7.136", 0, 0, "sender was not authenticated"),
        ("5.7.", 501, 503, "access denied, spam abuse detected"),
        ("5.7.512", 0, 0, "access denied, message must be rfc 5322 section 3.6.2 compliant"),
        (
            "5.7.750",
            0,
            0,
            "service unavailable. client blocked from sending from unregistered domains",
        ),
        ("5.7.", 501, 503, "access denied, banned sender"),
    ),
    "securityerror": (
        ("5.7.3", 0, 0, "cannot achieve exchange server authentication"),
        ("5.7.3", 0, 0, "not authorized"),
        ("4.4.317", 0, 0, "starttls is required to send mail"),
        ("5.4.317", 0, 0, "starttls is required to send mail"),
        (
            "4.7.321",
            0,
            0,
            "starttls-not-supported: destination mail server must support tls to receive mail",
        ),
        (
            "5.7.321",
            0,
            0,
            "starttls-not-supported: destination mail server must support tls to receive mail",
        ),
        ("5.7.1", 0, 0, "client was not authenticated"),
        ("5.7.57", 0, 0, "client was not authenticated to send anonymous mail during mail from"),
    ),
    "spamdetected": (("5.2.1", 0, 0, "content filter agent quarantined this message"),),
    "speeding": (
        ("4.3.2", 0, 0, "storedrv.deliver; recipient thread limit exceeded"),
        (
            "5.1.90",
            0,
            0,
            "your message can't be sent because you've reached your daily limit for message recipients",
        ),
        ("5.2.2", 0, 0, "submission quota exceeded"),
        (
            "5.2.121",
            0,
            0,
            "recipient's per hour message receive limit from specific sender exceeded",
        ),
        ("5.2.122", 0, 0, "recipient's per hour message receive limit exceeded"),
        ("5.7.508", 0, 0, "has exceeded permitted limits within"),
        ("5.7.", 700, 749, "access denied, tenant has exceeded threshold"),
        ("5.7.", 700, 749, "access denied, traffic not accepted from this ip"),
    ),
    "suspend": (
        ("5.7.504", 0, 0, "recipient address rejected: access denied"),
        ("5.7.505", 0, 0, "access denied, banned recipient"),
        ("5.2.1", 0, 0, "mailbox cannot be accessed"),
    ),
    "syntaxerror": (
        ("5.3.3", 0, 0, "unrecognized command"),
        ("5.5.2", 0, 0, "send hello first"),
    ),
    "systemerror": (
        ("4.3.2", 0, 0, "service not available"),
        ("4.3.2", 0, 0, "service not active"),
        ("5.3.5", 0, 0, "system incorrectly configured"),
        (
            "5.3.190",
            0,
            0,
            "journaling on-premises messages to microsoft 365 or office 365 not supported when journaling archive is disabled",
        ),
        ("5.0.0", 0, 0, "helo / ehlo requires domain address"),
        ("5.1.4", 0, 0, "destination mailbox address ambiguous"),
        ("5.2.4", 0, 0, "mailing list expansion problem"),
        ("5.2.14", 0, 0, "misconfigured forwarding address"),
        ("4.4.3", 0, 0, "temporary server error. please try again later attr18"),
        ("4.7.0", 0, 0, "temporary server error. please try again later. prx4 nexthop:"),
        ("4.4.24", 0, 0, "message failed to be replicated: insufficient system resource:"),
        (
            "4.4.25",
            0,
            0,
            "message failed to be replicated: no healthy secondary server available to accept replica at this time.",
        ),
        ("4.4.28", 0, 0, "message failed to be replicated: the operation was canceled"),
        ("4.4.318", 0, 0, "(suspiciousremoteservererror)"),
        ("5.4.318", 0, 0, "(suspiciousremoteservererror)"),
        ("4.7.500", 0, 0, "server busy. please try again later from "),
        ("4.7.700", 0, 0, "pfa agent busy, please try again."),
    ),
    "systemfull": (("4.3.1", 0, 0, "insufficient system resources"),),
    "toomanyconn": (
        ("5.5.3", 0, 0, "too many recipients"),
        ("4.5.3", 0, 0, "too many recipients"),
        ("5.2.122", 0, 0, "the recipient has exceeded their limit for"),
    ),
    "userunknown": (
        ("5.1.1", 0, 0, "resolver.adr.exrecipnotfound; not found"),
        ("5.1.1", 0, 0, "user unknown"),
        ("5.1.3", 0, 0, "storedrv.submit; invalid recipient address"),
        ("5.1.", 4, 5, "recipient address reserved by rfc 2606"),
        ("5.1.6", 0, 0, "recipient addresses in single label domains not accepted"),
        ("5.1.1", 0, 0, "bad destination mailbox address"),
        ("5.1.10", 0, 0, "recipient not found"),
        ("5.4.1", 0, 0, "recipient address rejected: access denied"),
        ("5.5.0", 0, 0, "requested action not taken: mailbox unavailable"),
        ("5.1.2", 0, 0, "invalid x.400 address"),
    ),
}

YAHOO_INC: dict[str, tuple[str, ...]] = {
    "authfailure": ("yahoo requires all senders to authenticate with either spf or dkim",),
    "blocked": (
        " because the ip is in spamhaus's list;",
        "not accepted from ip addresses on spamhaus xbl",
    ),
    "norelaying": ("relaying denied for ",),
    "notcompliantrfc": ("headers are not rfc compliant",),
    "policyviolation": ("not accepted for policy reasons",),
    "rejected": (
        "temporarily deferred due to unexpected volume or user complaints",
        "due to unresolvable rfc.5321 domain",
        " will be permanently deferred",
    ),
    "speeding": ("user is receiving mail too quickly",),
    "suspend": (
        " is no longer valid.",
        "this mailbox is disabled",
    ),
    "syntaxerror": ("syntax error in parameters or arguments",),
    "toomanyconn": ("max message per connection reached",),
    "userunknown": (
        "dd this user doesn't have a ",
        "mailbox not found",
    ),
}

FRANCE_PTT_CODES: dict[str, str] = {
    "101": "blocked", "102": "blocked", "103": "blocked", "104": "toomanyconn", "105": "",
    "107": "", "108": "", "109": "", "201": "", "305": "securityerror", "401": "authfailure",
    "402": "securityerror", "403": "rejected", "405": "rejected", "415": "rejected",
    "416": "userunknown", "417": "mailboxfull", "420": "suspend", "421": "rejected",
    "423": "", "424": "", "426": "suspend", "505": "systemerror", "506": "spamdetected",
    "510": "blocked", "513": "", "514": "mesgtoobig", "517": "authfailure",
    "630": "policyviolation", "999": "blocked",
}  # fmt: skip
FRANCE_PTT_MESSAGES: dict[str, tuple[str, ...]] = {
    "authfailure": ("spf/dns de votre nom de domaine",),
}
