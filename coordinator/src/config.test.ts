/**
 * A config no round could ever start with (nobody enrolled, or rounds.minParticipants above the number
 * enrolled) is refused when a coordinator is built, with a message that says how to enrol; parseConfig alone
 * still reads it, for the commands that need no participants (fingerprint, verify).
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '@fedwarden/shared';
import { checkEnrolment, parseConfig } from './config.ts';
import { Coordinator } from './coordinator.ts';
import { ephemeralIdentity } from './identity.ts';

const participants = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `p${i}`, tokenSha256: String(i).repeat(64) }));
const HOW_TO_ENROL = /fedwarden token <participant-id>.*"tokenSha256".*under "participants"/;

describe('checkEnrolment', () => {
  it('refuses a config without participants, saying how to enrol', () => {
    const config = parseConfig({});
    expect(config.participants).toEqual([]);
    expect(() => checkEnrolment(config)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringMatching(/no participants are enrolled/) }));
    expect(() => checkEnrolment(config)).toThrow(HOW_TO_ENROL);
  });

  it('refuses rounds.minParticipants above the number enrolled, naming both numbers', () => {
    const config = parseConfig({ participants: participants(2), rounds: { minParticipants: 3 } });
    expect(() => checkEnrolment(config)).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringMatching(/rounds\.minParticipants is 3 but only 2 participants are enrolled/) }),
    );
    expect(() => checkEnrolment(config)).toThrow(HOW_TO_ENROL);
  });

  it('accepts minParticipants up to the number enrolled', () => {
    expect(() => checkEnrolment(parseConfig({ participants: participants(2), rounds: { minParticipants: 2 } }))).not.toThrow();
    expect(() => checkEnrolment(parseConfig({ participants: participants(1), rounds: { minParticipants: 1 } }))).not.toThrow();
  });
});

describe('Coordinator construction', () => {
  it('refuses an empty participant list', () => {
    expect(() => new Coordinator(parseConfig({ port: 0 }), ephemeralIdentity(), silentLogger)).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringMatching(HOW_TO_ENROL) }),
    );
  });

  it('refuses rounds.minParticipants above the number enrolled (the default 2 with one participant)', () => {
    expect(() => new Coordinator(parseConfig({ port: 0, participants: participants(1) }), ephemeralIdentity(), silentLogger)).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringMatching(/minParticipants is 2 but only 1 participant is enrolled/) }),
    );
  });
});

describe('parseConfig and fixed secure groups', () => {
  it('refuses sampling participants one by one with fixed home groups, which would leave most of them short', () => {
    const base = { port: 0, participants: participants(10), privacy: 'secagg' };
    expect(() => parseConfig({ ...base, rounds: { maxParticipants: 5 } })).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringMatching(/rounds\.maxParticipants samples participants one by one.*groupPolicy "reshuffle" or "reputation"/) }),
    );
    expect(() => parseConfig({ ...base, rounds: { maxParticipants: 5 }, secagg: { groupPolicy: 'reputation' } })).not.toThrow();
    expect(() => parseConfig({ ...base, privacy: 'trusted', rounds: { maxParticipants: 5 } })).not.toThrow();
  });
});
