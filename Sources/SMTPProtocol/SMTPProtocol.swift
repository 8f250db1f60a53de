public enum SMTPProtocolPlaceholder {}
