// The widget's own words, in English, French, Dutch and Spanish, chosen by the browser's language.
const en = {
  openChat: 'Open the chat',
  minimize: 'Minimize the chat',
  endChat: 'End the chat',
  messages: 'Messages',
  message: 'Your message',
  send: 'Send',
  sending: 'Sending…',
  notSent: 'Not sent:',
  typing: '{name} is typing…',
  waiting: 'You are number {n} in line. Someone will be with you shortly.',
  reconnecting: 'Connection lost. Reconnecting…',
  ended: 'The chat has ended.',
  rateQuestion: 'How was this chat?',
  satisfied: 'Satisfied',
  okay: 'Okay',
  dissatisfied: 'Dissatisfied',
  comment: 'Comment (optional)',
  sendRating: 'Send rating',
  skip: 'Skip',
  thanks: 'Thank you for your feedback.',
  newChat: 'Start a new chat',
  leaveMessage: 'Leave us a message',
  offlineIntro: 'Nobody is available to chat right now. Leave a message and we will answer by email.',
  name: 'Name',
  email: 'Email',
  sendMessage: 'Send message',
  ticketCreated: 'Thank you. Your message was received as ticket #{n}.',
  required: 'Please fill this in.',
  failed: 'Something went wrong. Please try again.',
};
export type Texts = typeof en;

const fr: Texts = {
  openChat: 'Ouvrir la discussion',
  minimize: 'Réduire la discussion',
  endChat: 'Terminer la discussion',
  messages: 'Messages',
  message: 'Votre message',
  send: 'Envoyer',
  sending: 'Envoi…',
  notSent: 'Non envoyé :',
  typing: '{name} est en train d’écrire…',
  waiting: 'Vous êtes numéro {n} dans la file. Quelqu’un va vous répondre.',
  reconnecting: 'Connexion perdue. Reconnexion…',
  ended: 'La discussion est terminée.',
  rateQuestion: 'Comment s’est passée cette discussion ?',
  satisfied: 'Satisfait',
  okay: 'Correct',
  dissatisfied: 'Insatisfait',
  comment: 'Commentaire (facultatif)',
  sendRating: 'Envoyer l’évaluation',
  skip: 'Passer',
  thanks: 'Merci pour votre avis.',
  newChat: 'Nouvelle discussion',
  leaveMessage: 'Laissez-nous un message',
  offlineIntro: 'Personne n’est disponible pour le moment. Laissez un message et nous vous répondrons par e-mail.',
  name: 'Nom',
  email: 'E-mail',
  sendMessage: 'Envoyer le message',
  ticketCreated: 'Merci. Votre message a été enregistré sous le ticket n° {n}.',
  required: 'Veuillez remplir ce champ.',
  failed: 'Une erreur s’est produite. Veuillez réessayer.',
};

const nl: Texts = {
  openChat: 'Open de chat',
  minimize: 'Chat minimaliseren',
  endChat: 'Chat beëindigen',
  messages: 'Berichten',
  message: 'Uw bericht',
  send: 'Verzenden',
  sending: 'Verzenden…',
  notSent: 'Niet verzonden:',
  typing: '{name} is aan het typen…',
  waiting: 'U bent nummer {n} in de wachtrij. We helpen u zo snel mogelijk.',
  reconnecting: 'Verbinding verbroken. Opnieuw verbinden…',
  ended: 'De chat is beëindigd.',
  rateQuestion: 'Hoe was deze chat?',
  satisfied: 'Tevreden',
  okay: 'Gaat wel',
  dissatisfied: 'Ontevreden',
  comment: 'Opmerking (optioneel)',
  sendRating: 'Beoordeling verzenden',
  skip: 'Overslaan',
  thanks: 'Bedankt voor uw feedback.',
  newChat: 'Nieuwe chat starten',
  leaveMessage: 'Laat een bericht achter',
  offlineIntro: 'Er is nu niemand beschikbaar. Laat een bericht achter, dan antwoorden we per e-mail.',
  name: 'Naam',
  email: 'E-mail',
  sendMessage: 'Bericht verzenden',
  ticketCreated: 'Bedankt. Uw bericht is ontvangen als ticket #{n}.',
  required: 'Vul dit veld in.',
  failed: 'Er ging iets mis. Probeer het opnieuw.',
};

const es: Texts = {
  openChat: 'Abrir el chat',
  minimize: 'Minimizar el chat',
  endChat: 'Terminar el chat',
  messages: 'Mensajes',
  message: 'Su mensaje',
  send: 'Enviar',
  sending: 'Enviando…',
  notSent: 'No enviado:',
  typing: '{name} está escribiendo…',
  waiting: 'Usted es el número {n} en la fila. Alguien le atenderá en breve.',
  reconnecting: 'Conexión perdida. Reconectando…',
  ended: 'El chat ha terminado.',
  rateQuestion: '¿Qué tal fue este chat?',
  satisfied: 'Satisfecho',
  okay: 'Regular',
  dissatisfied: 'Insatisfecho',
  comment: 'Comentario (opcional)',
  sendRating: 'Enviar valoración',
  skip: 'Omitir',
  thanks: 'Gracias por su opinión.',
  newChat: 'Iniciar un nuevo chat',
  leaveMessage: 'Déjenos un mensaje',
  offlineIntro: 'No hay nadie disponible en este momento. Deje un mensaje y le responderemos por correo electrónico.',
  name: 'Nombre',
  email: 'Correo electrónico',
  sendMessage: 'Enviar mensaje',
  ticketCreated: 'Gracias. Su mensaje se recibió como el ticket n.º {n}.',
  required: 'Rellene este campo.',
  failed: 'Algo salió mal. Inténtelo de nuevo.',
};

const BY_LANGUAGE: Record<string, Texts> = { en, fr, nl, es };

/** The first of the browser's languages the widget speaks, else English. */
export function textsFor(languages: readonly string[]): { lang: string; texts: Texts } {
  for (const tag of languages) {
    const lang = tag.toLowerCase().split('-')[0]!;
    if (BY_LANGUAGE[lang]) return { lang, texts: BY_LANGUAGE[lang] };
  }
  return { lang: 'en', texts: en };
}

export function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(values[name] ?? ''));
}
