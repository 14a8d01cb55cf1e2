// The public check page (/karte#<digits>): verifies the card's signature here, in the
// browser, with the published keys (docs/card-format.md), and decides "revoked" here too,
// from the published revocation list (section 11). Neither the token in the fragment nor
// the card number leaves the browser, and no visitor can use up another's questions.
(function () {
  "use strict";
  var config = document.getElementById("card-check").dataset;
  var progress = document.getElementById("card-check-progress");
  var empty = document.getElementById("card-check-empty");

  function Malformed(message) {
    this.message = message;
  }

  // --- Section 2: the decimal text form ----------------------------------------------
  var RUN_BYTES = { 3: 1, 5: 2, 8: 3, 10: 4, 13: 5, 15: 6, 17: 7 };

  function digitsToBytes(digits) {
    if (!/^[0-9]+$/.test(digits)) {
      throw new Malformed("not digits");
    }
    var out = [];
    for (var i = 0; i < digits.length; i += 17) {
      var run = digits.slice(i, i + 17);
      var size = RUN_BYTES[run.length];
      if (!size) {
        throw new Malformed("bad run length");
      }
      var value = BigInt(run);
      if (value >= BigInt(1) << BigInt(8 * size)) {
        throw new Malformed("run too large");
      }
      for (var b = size - 1; b >= 0; b--) {
        out.push(Number((value >> BigInt(8 * b)) & BigInt(255)));
      }
    }
    return new Uint8Array(out);
  }

  // --- A strict CBOR decoder for the structures of the token ---------------------------
  // Definite lengths in their shortest form only, no floats, no duplicate map keys and
  // no trailing bytes: then the bytes are the canonical encoding of what they decode to.
  function Tagged(tag, value) {
    this.tag = tag;
    this.value = value;
  }
  function ByteString(bytes) {
    this.bytes = bytes;
  }
  var utf8 = new TextDecoder("utf-8", { fatal: true });

  function decodeAll(bytes) {
    var reader = { bytes: bytes, pos: 0 };
    var value = decodeItem(reader);
    if (reader.pos !== bytes.length) {
      throw new Malformed("trailing bytes");
    }
    return value;
  }

  function take(reader, count) {
    if (reader.pos + count > reader.bytes.length) {
      throw new Malformed("truncated");
    }
    var slice = reader.bytes.subarray(reader.pos, reader.pos + count);
    reader.pos += count;
    return slice;
  }

  function readArgument(reader, info) {
    if (info < 24) {
      return info;
    }
    var sizes = { 24: 1, 25: 2, 26: 4, 27: 8 };
    var size = sizes[info];
    if (!size) {
      throw new Malformed("indefinite or reserved length");
    }
    var value = BigInt(0);
    take(reader, size).forEach(function (byte) {
      value = (value << BigInt(8)) | BigInt(byte);
    });
    var minimum = { 1: 24, 2: 256, 4: 65536, 8: 4294967296 }[size];
    if (value < BigInt(minimum)) {
      throw new Malformed("longer than needed");
    }
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Malformed("number too large");
    }
    return Number(value);
  }

  function decodeItem(reader) {
    var initial = take(reader, 1)[0];
    var major = initial >> 5;
    var info = initial & 31;
    if (major === 7) {
      if (info === 22) return null;
      if (info === 20) return false;
      if (info === 21) return true;
      throw new Malformed("unsupported simple value");
    }
    var argument = readArgument(reader, info);
    var i;
    switch (major) {
      case 0:
        return argument;
      case 1:
        return -1 - argument;
      case 2:
        return new ByteString(take(reader, argument));
      case 3:
        return utf8.decode(take(reader, argument));
      case 4: {
        var items = [];
        for (i = 0; i < argument; i++) items.push(decodeItem(reader));
        return items;
      }
      case 5: {
        var map = new Map();
        for (i = 0; i < argument; i++) {
          var key = decodeItem(reader);
          if (typeof key !== "number" && typeof key !== "string") {
            throw new Malformed("map key type");
          }
          if (map.has(key)) throw new Malformed("duplicate key");
          map.set(key, decodeItem(reader));
        }
        return map;
      }
      default:
        return new Tagged(argument, decodeItem(reader));
    }
  }

  function byteStringHeader(length) {
    if (length < 24) return [0x40 + length];
    if (length < 256) return [0x58, length];
    if (length < 65536) return [0x59, length >> 8, length & 255];
    return [0x5a, (length >>> 24) & 255, (length >> 16) & 255, (length >> 8) & 255, length & 255];
  }

  function sigStructure(protectedBytes, payload) {
    var parts = [0x84, 0x6a];
    "Signature1".split("").forEach(function (c) {
      parts.push(c.charCodeAt(0));
    });
    parts = parts.concat(byteStringHeader(protectedBytes.length), Array.from(protectedBytes));
    parts.push(0x40);
    parts = parts.concat(byteStringHeader(payload.length), Array.from(payload));
    return new Uint8Array(parts);
  }

  function hex(bytes) {
    return Array.from(bytes)
      .map(function (b) {
        return b.toString(16).padStart(2, "0");
      })
      .join("");
  }

  // --- Sections 3-7: COSE_Sign1, the key, the signature, the claims --------------------
  function parseEnvelope(bytes) {
    var top = decodeAll(bytes);
    if (!(top instanceof Tagged) || top.tag !== 18 || !Array.isArray(top.value)) {
      throw new Malformed("not COSE_Sign1");
    }
    var parts = top.value;
    if (
      parts.length !== 4 ||
      !(parts[0] instanceof ByteString) ||
      !(parts[1] instanceof Map) ||
      parts[1].size !== 0 ||
      !(parts[2] instanceof ByteString) ||
      !(parts[3] instanceof ByteString) ||
      parts[3].bytes.length !== 64
    ) {
      throw new Malformed("envelope");
    }
    var header = decodeAll(parts[0].bytes);
    if (
      !(header instanceof Map) ||
      header.size !== 2 ||
      header.get(1) !== -8 ||
      !(header.get(4) instanceof ByteString) ||
      header.get(4).bytes.length !== 8
    ) {
      throw new Malformed("protected header");
    }
    return {
      kid: hex(header.get(4).bytes),
      protectedBytes: parts[0].bytes,
      payload: parts[2].bytes,
      signature: parts[3].bytes,
    };
  }

  function parseClaims(payload) {
    var claims = decodeAll(payload);
    if (!(claims instanceof Map)) throw new Malformed("claims");
    claims.forEach(function (_value, key) {
      if ([1, 6, 4, -1].indexOf(key) < 0) throw new Malformed("unexpected claim");
    });
    var card = claims.get(-1);
    var exp = claims.has(4) ? claims.get(4) : null;
    if (
      typeof claims.get(1) !== "string" ||
      typeof claims.get(6) !== "number" ||
      (exp !== null && typeof exp !== "number") ||
      !Array.isArray(card) ||
      card.length !== 5 ||
      card[0] !== 1 ||
      typeof card[1] !== "string" ||
      card[1].length !== 12 ||
      typeof card[2] !== "string" ||
      (card[3] !== 1 && card[3] !== 2)
    ) {
      throw new Malformed("card claim");
    }
    var validUntil = card[4];
    if (validUntil === null) {
      if (exp !== null) throw new Malformed("exp without valid-until");
    } else if (
      !(validUntil instanceof Tagged) ||
      validUntil.tag !== 100 ||
      typeof validUntil.value !== "number" ||
      exp === null
    ) {
      throw new Malformed("valid-until");
    }
    return {
      exp: exp,
      number: card[1],
      name: card[2],
      type: card[3],
      validUntilDays: validUntil === null ? null : validUntil.value,
    };
  }

  function base64UrlOk(text) {
    return typeof text === "string" && /^[A-Za-z0-9_-]+$/.test(text);
  }

  function verifySignature(envelope, keySet) {
    var jwk = (keySet.keys || []).filter(function (key) {
      return key.kid === envelope.kid && key.kty === "OKP" && key.crv === "Ed25519";
    })[0];
    if (!jwk || !base64UrlOk(jwk.x)) {
      return Promise.resolve(false); // unknown key: not one of ours
    }
    return crypto.subtle
      .importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, [
        "verify",
      ])
      .then(function (key) {
        return crypto.subtle.verify(
          { name: "Ed25519" },
          key,
          envelope.signature,
          sigStructure(envelope.protectedBytes, envelope.payload),
        );
      });
  }

  // --- Showing the answer ------------------------------------------------------------
  function formatDay(days) {
    if (days === null) return config.noEnd;
    return new Intl.DateTimeFormat(config.locale, {
      day: "2-digit",
      month: "2-digit",
      year: "numeric",
      timeZone: "UTC",
    }).format(new Date(days * 86400000));
  }

  function show(status, card) {
    progress.hidden = true;
    var section = document.getElementById("verdict");
    section.dataset.status = status;
    section.querySelectorAll("[data-verdict]").forEach(function (panel) {
      panel.hidden = panel.dataset.verdict !== status;
    });
    document.getElementById("verdict-card").hidden = !card;
    if (card) {
      document.getElementById("verdict-name").textContent = card.name;
      document.getElementById("verdict-type").textContent = config["type-" + card.type] || "";
      document.getElementById("verdict-until").textContent = formatDay(card.validUntilDays);
    }
    section.hidden = false;
  }

  function fetchJson(url) {
    return fetch(url, { credentials: "omit" }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  // --- Section 11: the revocation list -------------------------------------------------
  // The list, or null when it cannot be fetched or read: then the page must not say
  // "valid", since a revoked card would look exactly like a good one.
  function fetchRevocations() {
    return fetchJson(config.revocationsUrl)
      .then(function (listing) {
        if (
          !listing ||
          listing.algorithm !== "HMAC-SHA256/64" ||
          typeof listing.salt !== "string" ||
          !listing.salt ||
          !Array.isArray(listing.revoked)
        ) {
          throw new Error("not a revocation list");
        }
        return listing;
      })
      .catch(function () {
        return null;
      });
  }

  function revocationEntry(salt, number) {
    var encoder = new TextEncoder();
    return crypto.subtle
      .importKey("raw", encoder.encode(salt), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
      .then(function (key) {
        return crypto.subtle.sign("HMAC", key, encoder.encode(number));
      })
      .then(function (mac) {
        return hex(new Uint8Array(mac).subarray(0, 8));
      });
  }

  // Resolves to true or false, or null when revocation cannot be decided.
  function isRevoked(card, revocations) {
    return revocations.then(function (listing) {
      if (!listing) return null;
      return revocationEntry(listing.salt, card.number).then(
        function (entry) {
          return listing.revoked.indexOf(entry) >= 0;
        },
        function () {
          return null;
        },
      );
    });
  }

  // The token is ASCII digits only (docs/card-format.md, section 1). The fragment is
  // read as it is, never percent-decoded, exactly as the server's parse_card_url reads
  // it: "%31" is not a digit here or on /api/v1/verify, and a broken escape cannot throw.
  function tokenDigits() {
    return location.hash.replace(/^#/, "");
  }

  function run() {
    var digits = tokenDigits();
    document.getElementById("verdict").hidden = true;
    if (!digits) {
      empty.hidden = false;
      return;
    }
    empty.hidden = true;
    progress.hidden = false;
    var envelope;
    try {
      envelope = parseEnvelope(digitsToBytes(digits));
    } catch (error) {
      show("invalid", null);
      return;
    }
    var revocations = fetchRevocations(); // at the same time as the keys
    fetchJson(config.keysUrl)
      .then(
        function (keySet) {
          return verifySignature(envelope, keySet).catch(function () {
            return false; // a key the browser cannot use verifies nothing
          });
        },
        function () {
          progress.textContent = config.failed;
          return null;
        },
      )
      .then(function (genuine) {
        if (genuine === null) return;
        if (!genuine) {
          show("invalid", null);
          return;
        }
        var card;
        try {
          card = parseClaims(envelope.payload);
        } catch (error) {
          show("invalid", null);
          return;
        }
        var expired = card.exp !== null && Date.now() / 1000 >= card.exp;
        return isRevoked(card, revocations).then(function (revoked) {
          if (revoked) {
            show("revoked", card);
          } else if (expired) {
            show("expired", card); // not valid, whatever the list says
          } else {
            show(revoked === null ? "unchecked" : "valid", card);
          }
        });
      })
      .catch(function () {
        progress.textContent = config.failed;
      });
  }

  window.addEventListener("hashchange", run);
  run();
})();
