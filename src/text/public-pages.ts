/**
 * The words of the public pages (website form, and what chat will show) in the languages customers
 * ask for; the texts of a form itself are the team's.
 */
export const PUBLIC_PAGE_TEXTS = {
  en: { send: 'Send', required: 'required', errors: 'Please correct the fields marked below.', thanks: 'Your ticket number is', forms: 'Support', none: 'No form is available.', REQUIRED: 'This field is required.', INVALID_FORMAT: 'This value is not valid.', TOO_LONG: 'This value is too long.', FILE_TOO_LARGE: 'This file is too large (10 MB at most).', FILE_TYPE: 'Send an image, a PDF or a text file.', RATE_LIMITED: 'Too many submissions from your address: please try again later.', REJECTED: 'Your submission was refused.', TOO_LARGE: 'The submission is too large or has too many fields. Shorten the texts or send smaller files.', UNREADABLE: 'The submission could not be read. Please send the form again.' },
  fr: { send: 'Envoyer', required: 'obligatoire', errors: 'Veuillez corriger les champs indiqués ci-dessous.', thanks: 'Votre numéro de ticket est', forms: 'Assistance', none: 'Aucun formulaire disponible.', REQUIRED: 'Ce champ est obligatoire.', INVALID_FORMAT: "Cette valeur n'est pas valide.", TOO_LONG: 'Cette valeur est trop longue.', FILE_TOO_LARGE: 'Ce fichier est trop volumineux (10 Mo au plus).', FILE_TYPE: 'Envoyez une image, un PDF ou un fichier texte.', RATE_LIMITED: 'Trop de demandes depuis votre adresse : réessayez plus tard.', REJECTED: 'Votre demande a été refusée.', TOO_LARGE: 'La demande est trop volumineuse ou compte trop de champs. Raccourcissez les textes ou envoyez des fichiers plus petits.', UNREADABLE: "La demande n'a pas pu être lue. Veuillez renvoyer le formulaire." },
  nl: { send: 'Versturen', required: 'verplicht', errors: 'Verbeter de velden hieronder.', thanks: 'Uw ticketnummer is', forms: 'Ondersteuning', none: 'Er is geen formulier beschikbaar.', REQUIRED: 'Dit veld is verplicht.', INVALID_FORMAT: 'Deze waarde is ongeldig.', TOO_LONG: 'Deze waarde is te lang.', FILE_TOO_LARGE: 'Dit bestand is te groot (hoogstens 10 MB).', FILE_TYPE: 'Stuur een afbeelding, een pdf of een tekstbestand.', RATE_LIMITED: 'Te veel aanvragen vanaf uw adres: probeer het later opnieuw.', REJECTED: 'Uw aanvraag werd geweigerd.', TOO_LARGE: 'De aanvraag is te groot of heeft te veel velden. Maak de teksten korter of stuur kleinere bestanden.', UNREADABLE: 'De aanvraag kon niet worden gelezen. Verstuur het formulier opnieuw.' },
  es: { send: 'Enviar', required: 'obligatorio', errors: 'Corrija los campos indicados abajo.', thanks: 'Su número de ticket es', forms: 'Soporte', none: 'No hay ningún formulario disponible.', REQUIRED: 'Este campo es obligatorio.', INVALID_FORMAT: 'Este valor no es válido.', TOO_LONG: 'Este valor es demasiado largo.', FILE_TOO_LARGE: 'Este archivo es demasiado grande (10 MB como máximo).', FILE_TYPE: 'Envíe una imagen, un PDF o un archivo de texto.', RATE_LIMITED: 'Demasiados envíos desde su dirección: inténtelo más tarde.', REJECTED: 'Su envío fue rechazado.', TOO_LARGE: 'El envío es demasiado grande o tiene demasiados campos. Acorte los textos o envíe archivos más pequeños.', UNREADABLE: 'No se pudo leer el envío. Vuelva a enviar el formulario.' },
} as const;
export type Language = keyof typeof PUBLIC_PAGE_TEXTS;

/** The best of our languages for an Accept-Language header (English when none fits). */
export function languageOf(acceptLanguage: string | null | undefined): Language {
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag, q] = part.trim().split(';q=');
      return { lang: tag!.toLowerCase().split('-')[0]!, q: q === undefined ? 1 : Number(q) };
    })
    .filter((l) => l.lang && !Number.isNaN(l.q))
    .sort((a, b) => b.q - a.q);
  return (ranked.find((l) => l.lang in PUBLIC_PAGE_TEXTS)?.lang as Language | undefined) ?? 'en';
}
