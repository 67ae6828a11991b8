import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/**
 * Two rules smtp-server has no option for, added to its connection class. Both stay inert
 * unless the server is created with the options below.
 *
 * - A quoted local part (`MAIL FROM:<"john doe"@example.com>`, RFC 5321 §4.1.2) is accepted:
 *   smtp-server splits the command at spaces and refuses such an address with 501.
 * - NOOP and RSET keep a connection alive only `intakeMaxIdleCommands` times in a row; from
 *   the next one on, the idle timeout runs whatever further NOOP/RSET arrive (until another
 *   command), so a client cannot hold a slot open by sending NOOP now and then.
 */
export interface ConnectionRuleOptions {
  intakeMaxIdleCommands?: number;
}

interface Connection {
  _server: { options: ConnectionRuleOptions & { socketTimeout?: number } };
  _closing?: boolean;
  _closed?: boolean;
  _onTimeout(): void;
  _onCommand(command: Buffer, callback?: () => void): void;
  _parseAddressCommand(rawName: string, rawCommand: Buffer | string): { address: string } | false;
}

const QUOTED_ADDRESS = /^(\s*[A-Za-z ]+:\s*<)("(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*")(@[^<>\s]+>)(.*)$/s;
const PLACEHOLDER = 'quoted';

interface IdleState {
  count: number;
  timer: NodeJS.Timeout | null;
}
const idleStates = new WeakMap<Connection, IdleState>();

let installed = false;

export function installConnectionRules(): void {
  if (installed) return;
  installed = true;
  const proto = SMTPConnection.prototype as unknown as Connection;

  const parseAddress = proto._parseAddressCommand;
  proto._parseAddressCommand = function (this: Connection, rawName, rawCommand) {
    const match = QUOTED_ADDRESS.exec(String(rawCommand ?? ''));
    if (!match) return parseAddress.call(this, rawName, rawCommand);
    // Parsed with a plain local part standing in, then the quoted one put back.
    const parsed = parseAddress.call(this, rawName, match[1] + PLACEHOLDER + match[3] + match[4]);
    if (parsed && parsed.address.startsWith(PLACEHOLDER + '@')) parsed.address = match[2] + parsed.address.slice(PLACEHOLDER.length);
    return parsed;
  };

  const onCommand = proto._onCommand;
  proto._onCommand = function (this: Connection, command, callback) {
    const limit = this._server.options.intakeMaxIdleCommands;
    if (limit !== undefined) {
      const state = idleStates.get(this) ?? { count: 0, timer: null };
      idleStates.set(this, state);
      const verb = String(command ?? '').trim().split(/\s/, 1)[0]!.toUpperCase();
      if (verb === 'NOOP' || verb === 'RSET') {
        state.count++;
        if (state.count > limit && !state.timer) {
          // From here on the socket's own idle timer is refreshed by these commands; this one is not.
          state.timer = setTimeout(() => {
            if (!this._closing && !this._closed) this._onTimeout();
          }, this._server.options.socketTimeout ?? 60_000);
          state.timer.unref();
        }
      } else {
        state.count = 0;
        if (state.timer) clearTimeout(state.timer);
        state.timer = null;
      }
    }
    return onCommand.call(this, command, callback);
  };
}
