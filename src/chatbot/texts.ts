/**
 * The bot's own words (not the script's), in the languages of the widget and the public pages,
 * chosen by the session's language (English when none fits). `{n}` is filled in by chatbotText.
 */
import { languageOf, type Language } from '../text/public-pages.js';

const en = {
  INVALID_EMAIL: 'That does not look like an email address. Please type one such as jane@example.com.',
  INVALID_PHONE: 'That does not look like a phone number. Please type digits, spaces and + ( ) - only.',
  CHOOSE_ANSWER: 'Please choose one of the answers.',
  OFFER_OPERATOR: 'Would you like to talk to one of our team? Type "operator".',
  OFFER_MESSAGE: 'Nobody is available to chat right now. Leave us a message and we will answer by email.',
  NO_OPERATOR_ONLINE: 'Nobody is available to chat right now.',
  WAITING_IN_LINE: 'You are number {n} in line. Someone will be with you shortly.',
  TICKET_CREATED: 'Thank you. Your request was received as ticket #{n}.',
};
export type ChatbotTextKey = keyof typeof en;

const TEXTS: Record<Language, Record<ChatbotTextKey, string>> = {
  en,
  fr: {
    INVALID_EMAIL: 'Ceci ne ressemble pas à une adresse e-mail. Tapez-en une comme jeanne@exemple.fr.',
    INVALID_PHONE: 'Ceci ne ressemble pas à un numéro de téléphone. Tapez uniquement des chiffres, des espaces et + ( ) -.',
    CHOOSE_ANSWER: 'Veuillez choisir une des réponses.',
    OFFER_OPERATOR: 'Voulez-vous parler à quelqu’un de notre équipe ? Tapez « opérateur ».',
    OFFER_MESSAGE: 'Personne n’est disponible pour le moment. Laissez-nous un message et nous vous répondrons par e-mail.',
    NO_OPERATOR_ONLINE: 'Personne n’est disponible pour le moment.',
    WAITING_IN_LINE: 'Vous êtes numéro {n} dans la file. Quelqu’un va vous répondre.',
    TICKET_CREATED: 'Merci. Votre demande a été enregistrée sous le ticket n° {n}.',
  },
  nl: {
    INVALID_EMAIL: 'Dat lijkt geen e-mailadres. Typ er een zoals jan@voorbeeld.nl.',
    INVALID_PHONE: 'Dat lijkt geen telefoonnummer. Typ alleen cijfers, spaties en + ( ) -.',
    CHOOSE_ANSWER: 'Kies een van de antwoorden.',
    OFFER_OPERATOR: 'Wilt u met iemand van ons team praten? Typ "operator".',
    OFFER_MESSAGE: 'Er is op dit moment niemand beschikbaar. Laat een bericht achter en we antwoorden per e-mail.',
    NO_OPERATOR_ONLINE: 'Er is op dit moment niemand beschikbaar.',
    WAITING_IN_LINE: 'U bent nummer {n} in de wachtrij. Er helpt u zo iemand.',
    TICKET_CREATED: 'Dank u. Uw vraag is ontvangen als ticket #{n}.',
  },
  es: {
    INVALID_EMAIL: 'Eso no parece una dirección de correo. Escriba una como ana@ejemplo.es.',
    INVALID_PHONE: 'Eso no parece un número de teléfono. Escriba solo dígitos, espacios y + ( ) -.',
    CHOOSE_ANSWER: 'Elija una de las respuestas.',
    OFFER_OPERATOR: '¿Quiere hablar con alguien de nuestro equipo? Escriba «operador».',
    OFFER_MESSAGE: 'No hay nadie disponible en este momento. Déjenos un mensaje y le responderemos por correo.',
    NO_OPERATOR_ONLINE: 'No hay nadie disponible en este momento.',
    WAITING_IN_LINE: 'Es el número {n} en la cola. Alguien le atenderá enseguida.',
    TICKET_CREATED: 'Gracias. Su solicitud se registró como el ticket n.º {n}.',
  },
};

/** The bot's text in the session's language (a tag such as "fr-BE"; English when none fits), `{n}` filled in. */
export function chatbotText(language: string | null | undefined, key: ChatbotTextKey, n?: number): string {
  const text = TEXTS[languageOf(language)][key];
  return n === undefined ? text : text.replace('{n}', String(n));
}
