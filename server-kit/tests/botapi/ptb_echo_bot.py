"""An ordinary python-telegram-bot 22.8 echo bot, long polling, pointed at our Bot API by its
base URL only. Run by server-kit/tests/botapi_ptb.rs:

    python ptb_echo_bot.py BASE_URL TOKEN      (BASE_URL: http://127.0.0.1:PORT/bot)

/start is answered "Hi! Send me text." (a CommandHandler: needs the bot_command entity);
other text is echoed back as a reply to the message.
"""
import logging
import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes, MessageHandler, filters

BASE_URL, TOKEN = sys.argv[1], sys.argv[2]


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text("Hi! Send me text.")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text, do_quote=True)


def main() -> None:
    logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
    # httpx logs every request URL, token included: keep it to warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(BASE_URL)
        .base_file_url(BASE_URL.replace("/bot", "/file/bot"))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    print("polling", flush=True)
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
