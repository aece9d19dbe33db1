// What the other side's words are taken for: the phrasings screeners, hold queues and menus use (and their close
// variants, in the four languages the tables hold), and what a person says on picking up.
import { describe, expect, test } from "bun:test";
import { classify, type Heard, menuOptions, menuSignature } from "../../src/gatekeepers/phrases.ts";

const cases: Record<string, string[]> = {
  screener: [
    "Hi, the person you're calling is using a screening service and will get a copy of this conversation. Go ahead and say your name and why you're calling.",
    "Please state your name and the reason for calling.",
    "If you record your name and reason for calling, I'll see if this person is available.",
    "The person you are calling uses call screening. Who's calling?",
    "Hola, por favor diga su nombre y el motivo de su llamada.",
    "Bitte nennen Sie Ihren Namen und den Grund Ihres Anrufs.",
    "Bonjour, dites votre nom et le motif de votre appel.",
  ],
  declined: [
    "Sorry, the person you are calling is not available.",
    "They can't take your call right now. Please leave a message after the tone.",
    "Lo siento, no está disponible. Deje un mensaje.",
    "Die Person ist leider nicht erreichbar.",
    "Cette personne n'est pas disponible, laissez un message.",
  ],
  hold: [
    "Please hold.",
    "All of our agents are currently busy. Please stay on the line.",
    "Your call is very important to us.",
    "Your estimated wait time is 4 minutes.",
    "Thank you for your patience, please continue to hold.",
    "Todos nuestros agentes están ocupados, por favor espere.",
    "Bitte bleiben Sie in der Leitung, alle Mitarbeiter sind im Gespräch.",
    "Veuillez patienter, tous nos conseillers sont occupés.",
  ],
  menu: [
    "For billing, press 1. For appointments, press 2.",
    "Para español, oprima dos.",
    "Please say or enter your account number.",
    "Für Termine drücken Sie die 1.",
    "Pour la facturation, appuyez sur la touche 1.",
    "To speak with a nurse, press star.",
  ],
  recorded: [
    "Thank you for calling Acme Clinic.",
    "You have reached the offices of Dr. Lee.",
    "This call may be recorded for quality assurance.",
    "Gracias por llamar a la Clínica Acme.",
    "Vielen Dank für Ihren Anruf bei der Praxis Lee.",
    "Merci d'avoir appelé la clinique Acme.",
  ],
  person: [
    "Hello?",
    "Yes, hello.",
    "Hello? This is Jordan.",
    "Front desk, this is Sam speaking. How can I help you?",
    "Hi, thanks for holding, this is Sam at Acme Clinic. How can I help?",
    "Thanks for calling Acme, how can I help you?",
    "Who is this?",
    "¿Bueno? ¿En qué le puedo ayudar?",
    "Praxis Lee, wie kann ich Ihnen helfen?",
  ],
  noise: ["", "  ", "♪♪", "[Music]", "(music playing)", "...", "(inaudible)"],
};

describe("classify", () => {
  for (const [kind, texts] of Object.entries(cases)) {
    test.each(texts)(`${kind}: %s`, (text) => expect(classify(text)).toBe(kind as Heard));
  }

  test("a loose screener prompt counts only after the carrier hinted at a machine", () => {
    expect(classify("Who is calling, and what is the reason?")).toBe("person");
    expect(classify("Who is calling, and what is the reason?", true)).toBe("screener");
  });
});

describe("menuOptions", () => {
  test("label-first and key-first options, in the order heard, keys as digits", () => {
    const options = menuOptions(
      "Thank you for calling. For appointments, press one. For billing, press 2. Press star to hear these again.",
    );
    expect(options).toEqual([
      { key: "1", label: "appointments" },
      { key: "2", label: "billing" },
      { key: "*", label: "hear these again" },
    ]);
  });

  test("other languages", () => {
    expect(menuOptions("Para español, oprima dos.")).toEqual([{ key: "2", label: "español" }]);
    expect(menuOptions("Pour la facturation, appuyez sur la touche 1.")).toEqual([
      { key: "1", label: "la facturation" },
    ]);
  });

  test("the same menu read twice has one signature; another menu has another", () => {
    const a = menuSignature(menuOptions("For appointments, press one. For billing, press two."));
    const b = menuSignature(menuOptions("For Appointments, press 1, for billing press 2"));
    const c = menuSignature(menuOptions("For a new appointment, press one."));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });
});
